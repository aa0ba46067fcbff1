{
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wno-unused-parameter"],
    "cflags_cc!": ["-fno-exceptions"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native", "native/include"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"]
  },
  "targets": [
    {
      "target_name": "qinfer_avx2",
      "type": "static_library",
      "sources": ["<!@(node scripts/gyp-sources.mjs avx2)"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mbmi2"]
    },
    {
      "target_name": "qinfer_avx512",
      "type": "static_library",
      "sources": ["<!@(node scripts/gyp-sources.mjs avx512)"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mbmi2", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq"]
    },
    {
      "target_name": "qinfer_avx512vnni",
      "type": "static_library",
      "sources": ["<!@(node scripts/gyp-sources.mjs avx512vnni)"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mbmi2", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512vnni"]
    },
    {
      "target_name": "qinfer_avx512bf16",
      "type": "static_library",
      "sources": ["<!@(node scripts/gyp-sources.mjs avx512bf16)"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mbmi2", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512bf16"]
    },
    {
      "target_name": "qinfer_amx",
      "type": "static_library",
      "sources": ["<!@(node scripts/gyp-sources.mjs amx)"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-mbmi2", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512vnni", "-mamx-tile", "-mamx-int8"]
    },
    {
      "target_name": "qinfer",
      "sources": ["<!@(node scripts/gyp-sources.mjs generic)", "<!@(node scripts/gyp-sources.mjs napi)"],
      "dependencies": ["qinfer_avx2", "qinfer_avx512", "qinfer_avx512vnni", "qinfer_avx512bf16", "qinfer_amx"],
      "libraries": ["-ldl", "-lpthread"]
    }
  ]
}
