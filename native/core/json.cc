// The strict JSON pull parser behind the safetensors header reader.
#include "json.h"

#include <vector>

#include "byte-cursor.h"
#include "error.h"

namespace qinfer {
namespace {

void put_utf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

void JsonReader::fail(const std::string &problem) const {
  throw Error(QINFER_E_BAD_FILE, name_ + ": invalid JSON header: " + problem + " at byte " + std::to_string(i_));
}

void JsonReader::skip_ws() {
  while (i_ < n_ && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) i_++;
}

char JsonReader::peek() {
  skip_ws();
  if (i_ >= n_) fail("unexpected end");
  return s_[i_];
}

bool JsonReader::peek_object() { return peek() == '{'; }
bool JsonReader::peek_array() { return peek() == '['; }
bool JsonReader::peek_string() { return peek() == '"'; }

void JsonReader::begin_object() {
  if (peek() != '{') fail("expected an object");
  i_++;
  first_ = true;
}

bool JsonReader::next_member(std::string &key) {
  char c = peek();
  if (c == '}') {
    i_++;
    first_ = false;  // the object is a complete value of its parent
    return false;
  }
  if (!first_) {
    if (c != ',') fail("expected ',' or '}'");
    i_++;
  }
  first_ = false;
  if (peek() != '"') fail("expected a string key");
  key = parse_string();
  if (peek() != ':') fail("expected ':'");
  i_++;
  return true;
}

void JsonReader::begin_array() {
  if (peek() != '[') fail("expected an array");
  i_++;
  first_ = true;
}

bool JsonReader::next_item() {
  char c = peek();
  if (c == ']') {
    i_++;
    first_ = false;  // the array is a complete value of its parent
    return false;
  }
  if (!first_) {
    if (c != ',') fail("expected ',' or ']'");
    i_++;
  }
  first_ = false;
  return true;
}

std::string JsonReader::string_value() {
  if (peek() != '"') fail("expected a string");
  return parse_string();
}

uint64_t JsonReader::uint_value() {
  if (!is_digit(peek())) fail("expected a non-negative integer");
  if (s_[i_] == '0' && i_ + 1 < n_ && is_digit(s_[i_ + 1])) fail("leading zero in a number");
  uint64_t u = 0;
  while (i_ < n_ && is_digit(s_[i_])) {
    if (mul_overflows(u, 10, &u) || add_overflows(u, uint64_t(s_[i_] - '0'), &u)) fail("an integer larger than 2^64");
    i_++;
  }
  if (i_ < n_ && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) fail("expected an integer");
  return u;
}

void JsonReader::skip_number() {
  if (i_ < n_ && s_[i_] == '-') i_++;
  if (i_ >= n_ || !is_digit(s_[i_])) fail("invalid number");
  if (s_[i_] == '0' && i_ + 1 < n_ && is_digit(s_[i_ + 1])) fail("leading zero in a number");
  while (i_ < n_ && is_digit(s_[i_])) i_++;
  if (i_ < n_ && s_[i_] == '.') {
    i_++;
    if (i_ >= n_ || !is_digit(s_[i_])) fail("invalid fraction");
    while (i_ < n_ && is_digit(s_[i_])) i_++;
  }
  if (i_ < n_ && (s_[i_] == 'e' || s_[i_] == 'E')) {
    i_++;
    if (i_ < n_ && (s_[i_] == '+' || s_[i_] == '-')) i_++;
    if (i_ >= n_ || !is_digit(s_[i_])) fail("invalid exponent");
    while (i_ < n_ && is_digit(s_[i_])) i_++;
  }
}

void JsonReader::literal(const char *word) {
  for (const char *w = word; *w; w++, i_++)
    if (i_ >= n_ || s_[i_] != *w) fail("invalid literal");
}

void JsonReader::skip_value(int max_depth) {
  // Iterative with an explicit stack: a hostile header cannot exhaust the C++ stack.
  std::vector<char> open;
  bool first = true;
  for (;;) {
    char c = peek();
    if (c == '{' || c == '[') {
      if (int(open.size()) >= max_depth) fail("nesting deeper than " + std::to_string(max_depth));
      i_++;
      open.push_back(c);
      first = true;
    } else {
      if (c == '"') parse_string();
      else if (c == 't') literal("true");
      else if (c == 'f') literal("false");
      else if (c == 'n') literal("null");
      else skip_number();
      first = false;
    }
    // Close finished containers, then step to the next value (past ',' and an object's key).
    for (;;) {
      if (open.empty()) return;
      const char d = peek();
      if (d == (open.back() == '{' ? '}' : ']')) {
        i_++;
        open.pop_back();
        first = false;
        continue;
      }
      if (!first) {
        if (d != ',') fail("expected ','");
        i_++;
      }
      if (open.back() == '{') {
        if (peek() != '"') fail("expected a string key");
        parse_string();
        if (peek() != ':') fail("expected ':'");
        i_++;
      }
      break;
    }
  }
}

void JsonReader::end() {
  skip_ws();
  if (i_ != n_) fail("unexpected data after the JSON value");
}

unsigned JsonReader::hex4() {
  if (n_ - i_ < 4) fail("truncated \\u escape");
  unsigned x = 0;
  for (int k = 0; k < 4; k++) {
    char c = s_[i_++];
    x <<= 4;
    if (c >= '0' && c <= '9') x |= unsigned(c - '0');
    else if (c >= 'a' && c <= 'f') x |= unsigned(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') x |= unsigned(c - 'A' + 10);
    else fail("invalid \\u escape");
  }
  return x;
}

std::string JsonReader::parse_string() {
  i_++;  // opening quote
  std::string out;
  uint64_t run = i_;
  auto flush_run = [&] {
    if (!is_valid_utf8(s_ + run, i_ - run)) fail("a string that is not valid UTF-8");
    out.append(s_ + run, size_t(i_ - run));
  };
  for (;;) {
    if (i_ >= n_) fail("unterminated string");
    unsigned char c = static_cast<unsigned char>(s_[i_]);
    if (c == '"') {
      flush_run();
      i_++;
      return out;
    }
    if (c < 0x20) fail("a control character in a string");
    if (c != '\\') {
      i_++;
      continue;
    }
    flush_run();
    i_++;
    if (i_ >= n_) fail("unterminated escape");
    char e = s_[i_++];
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xDC00 && cp <= 0xDFFF) fail("a lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (n_ - i_ < 2 || s_[i_] != '\\' || s_[i_ + 1] != 'u') fail("a lone high surrogate");
          i_ += 2;
          uint32_t lo = hex4();
          if (lo < 0xDC00 || lo > 0xDFFF) fail("a lone high surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(out, cp);
        break;
      }
      default: fail("an invalid escape");
    }
    run = i_;
  }
}

}  // namespace qinfer
