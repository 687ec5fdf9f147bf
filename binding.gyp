{
  "targets": [
    {
      "target_name": "cnm",
      "sources": ["<!@(node -p \"require('./native/sources.json').join(' ')\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fstack-protector-strong"]
    }
  ]
}
