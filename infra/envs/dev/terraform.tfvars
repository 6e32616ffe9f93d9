# dev: cheap but still spread over 2 AZs. Single NAT gateway, Fargate Spot, 1 task per service
# (autoscaling may add more). The image tag is passed by the pipeline (TF_VAR_image_tag).
environment                 = "dev"
region                      = "eu-west-1"
availability_zones          = ["eu-west-1a", "eu-west-1b"]
single_nat_gateway          = true
use_fargate_spot            = true
desired_count               = 1
enable_autoscaling          = true
deletion_protection         = false
access_logs_force_destroy   = true
secret_recovery_window_days = 7
log_retention_days          = 14
flow_log_retention_days     = 14
# dev has no steady traffic: a quiet night is not an outage.
alarm_on_no_traffic = false
