# prod: highly available. 3 AZs, a NAT gateway per AZ, on-demand Fargate, each service's HA task
# count from its manifest (scaling.min >= 2) with autoscaling, deletion protection everywhere.
# The image tag/digests are passed by the pipeline (TF_VAR_image_tag, TF_VAR_image_digests).
environment                 = "prod"
region                      = "eu-west-1"
availability_zones          = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
single_nat_gateway          = false
use_fargate_spot            = false
enable_autoscaling          = true
deletion_protection         = true
access_logs_force_destroy   = false
secret_recovery_window_days = 30
log_retention_days          = 90
flow_log_retention_days     = 90
# Who is told when an alarm fires: REQUIRED in prod (plans refuse an empty list). Put your team's
# on-call address(es) here before the first prod plan; each confirms the e-mail AWS sends.
alarm_emails = []
