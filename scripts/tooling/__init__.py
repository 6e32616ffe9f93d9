"""The local tooling behind `make up`, `make images` and `make bench`: one module per concern.

- net: free loopback ports, waiting for an HTTP answer (shared by scripts, benchmarks and tests)
- pids: recognising a process we started (pid records: start time and command line)
- supervisor: starting and stopping the local stack's processes with pid records
- stack_settings: the local stack's settings (ports, state folder) and its error type
- emulator_setup: DynamoDB tables and Secrets Manager values in the AWS emulator
- services: service start order and each service's runtime environment
- edge_config, edge_rules: the generated Caddyfile (what CloudFront + ALB do in AWS)
- stack_commands, stack_logs, logview: `make up/down/status` and `make logs`
- podman, base_image, service_images, image_bench: container images without a Docker engine
"""
