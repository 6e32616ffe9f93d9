# Alarms (every one notifies the environment's KMS-encrypted topic), the deployment guards ECS
# watches, and the dashboard.

module "monitoring" {
  source = "../modules/monitoring"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name = local.name
  services = {
    for s in local.service_names : s => {
      cluster_name            = module.cluster.cluster_name
      service_name            = module.service[s].service_name
      target_group_arn_suffix = module.service[s].target_group_arn_suffix
      log_group_name          = module.service[s].log_group_name
      table_name              = module.table[s].name
    }
  }
  alb_arn_suffix             = module.alb.arn_suffix
  regional_web_acl_name      = module.waf_alb.web_acl_name
  edge_web_acl_name          = module.waf_edge.web_acl_name
  cloudfront_distribution_id = module.edge.distribution_id
  alarm_emails               = var.alarm_emails
  no_traffic_is_an_outage    = var.alarm_on_no_traffic
  anomaly_band_width         = var.anomaly_band_width
  environment                = var.environment
  repair_alarms = {
    for s in local.service_names : s => local.manifests[s].repairs_alarm_threshold
    if try(local.manifests[s].repairs_alarm_threshold, null) != null
  }
}

# The names ECS watches are computed without the alarms (edge.tf); they must be the ones created.
check "deployment_alarm_names" {
  assert {
    condition     = jsonencode(local.edge_deployment_alarm_names) == jsonencode(module.monitoring.deployment_alarm_names)
    error_message = "local.edge_deployment_alarm_names differs from the alarms the monitoring module creates."
  }
}
