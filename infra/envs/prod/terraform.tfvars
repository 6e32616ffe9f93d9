# prod: highly available. 3 AZs, a NAT gateway per AZ, on-demand Fargate, each service's HA task
# count from its manifest (scaling.min >= 2) with autoscaling, deletion protection everywhere.
# The image tag/digests are passed by the pipeline (TF_VAR_image_tag, TF_VAR_image_digests).
environment                 = "prod"
region                      = "eu-west-1"
az_count                    = 3
single_nat_gateway          = false
use_fargate_spot            = false
enable_autoscaling          = true
deletion_protection         = true
access_logs_force_destroy   = false
secret_recovery_window_days = 30
log_retention_days          = 90
flow_log_retention_days     = 90
