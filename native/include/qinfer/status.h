/* Status codes shared by the addon and the backend modules; JS maps each to a QinferError code. */
#ifndef QINFER_STATUS_H
#define QINFER_STATUS_H

typedef enum qinfer_status {
  QINFER_OK = 0,
  QINFER_E_BAD_FILE = 1,
  QINFER_E_UNSUPPORTED = 2,
  QINFER_E_BACKEND_UNAVAILABLE = 3,
  QINFER_E_OUT_OF_MEMORY = 4,
  QINFER_E_ABORTED = 5,
  QINFER_E_INVALID_ARGUMENT = 6,
  QINFER_E_INTERNAL = 7,
  QINFER_E_IO = 8,
  QINFER_E_CONTEXT_OVERFLOW = 9
} qinfer_status;

#endif
