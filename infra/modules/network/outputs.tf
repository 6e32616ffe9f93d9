output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "Availability zones in use, in subnet order."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "Public subnet IDs, one per AZ (same order as azs)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnet IDs, one per AZ (same order as azs)."
  value       = aws_subnet.private[*].id
}

output "private_route_table_ids" {
  description = "Private route table IDs, one per AZ."
  value       = aws_route_table.private[*].id
}

output "nat_gateway_ids" {
  description = "NAT gateway IDs (one, or one per AZ)."
  value       = aws_nat_gateway.this[*].id
}

output "s3_prefix_list_id" {
  description = "AWS-managed prefix list of S3 in this region (for security group egress)."
  value       = data.aws_ec2_managed_prefix_list.gateway["s3"].id
}

output "dynamodb_prefix_list_id" {
  description = "AWS-managed prefix list of DynamoDB in this region (for security group egress)."
  value       = data.aws_ec2_managed_prefix_list.gateway["dynamodb"].id
}

output "flow_log_group_name" {
  description = "CloudWatch log group receiving the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow_logs.name
}
