# The AWS emulator (moto server on 127.0.0.1; `make apply ENV=local`). Shaped like prod (2 AZs,
# NAT per AZ, 2 tasks per service, autoscaling) but disposable. `emulator` only drops the bucket
# policies' TLS-only rule (the emulator speaks plain HTTP).
environment                 = "local"
emulator                    = true
region                      = "eu-west-1"
max_retries                 = 2
availability_zones          = ["eu-west-1a", "eu-west-1b"]
single_nat_gateway          = false
use_fargate_spot            = false
desired_count               = 2
enable_autoscaling          = true
deletion_protection         = false
access_logs_force_destroy   = true
secret_recovery_window_days = 0
log_retention_days          = 7
flow_log_retention_days     = 7
log_level                   = "DEBUG"
# Images as the pipeline tags them, in the emulator's account ECR (123456789012 is moto's account).
image_tag = "git-4f9c2e1a7b3d"
