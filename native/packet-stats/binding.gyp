{
  "targets": [
    {
      "target_name": "packet_stats",
      "conditions": [
        ["OS=='linux'", { "sources": ["packet_stats.c"] }, { "sources": ["unsupported.c"] }]
      ],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
