output "cluster_name" {
  description = "Cluster name."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "Cluster ARN."
  value       = aws_ecs_cluster.this.arn
}

output "capacity_provider_strategy" {
  description = "Capacity provider strategy services should use (list of capacity_provider, weight, base)."
  value       = local.capacity_provider_strategy
  depends_on  = [aws_ecs_cluster_capacity_providers.this]
}

output "namespace_id" {
  description = "ID of the private DNS namespace for service discovery."
  value       = aws_service_discovery_private_dns_namespace.this.id
}

output "namespace_name" {
  description = "Name of the private DNS namespace (services are <service>.<namespace_name>)."
  value       = aws_service_discovery_private_dns_namespace.this.name
}
