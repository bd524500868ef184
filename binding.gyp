{
  "targets": [
    {
      "target_name": "mixprec",
      "sources": [
        "<!@(node -p \"require('./sources.json').common.join(' ')\")",
        "<!@(node -p \"require('./sources.json').cudaUnavailable.join(' ')\")"
      ],
      "libraries": ["-ldl"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_EXPERIMENTAL",
        "NAPI_VERSION=2147483647",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wall", "-Wextra", "-fno-math-errno", "-ffp-contract=off"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      }
    }
  ]
}
