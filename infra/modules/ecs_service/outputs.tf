output "service_name" {
  description = "ECS service name."
  value       = aws_ecs_service.this.name
}

output "service_id" {
  description = "ECS service ARN."
  value       = aws_ecs_service.this.id
}

output "security_group_id" {
  description = "Security group of the service's tasks."
  value       = aws_security_group.this.id
}

output "target_group_arn" {
  description = "Target group the service is registered in."
  value       = var.target_group_arn
}

output "target_group_arn_suffix" {
  description = "Target group ARN suffix (CloudWatch TargetGroup dimension)."
  value       = var.target_group_arn_suffix
}

output "task_definition_arn" {
  description = "Task definition revision the service runs."
  value       = aws_ecs_task_definition.this.arn
}

output "execution_role_arn" {
  description = "Execution role (image pull, secrets, logs)."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "Task role (own table only)."
  value       = aws_iam_role.task.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the containers."
  value       = aws_cloudwatch_log_group.this.name
}

output "port" {
  description = "Container port."
  value       = var.port
}
