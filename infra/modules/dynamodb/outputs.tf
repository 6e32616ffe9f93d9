output "name" {
  description = "Table name."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "Table ARN."
  value       = aws_dynamodb_table.this.arn
}

output "index_arns" {
  description = "ARN pattern covering every index of the table (for IAM)."
  value       = "${aws_dynamodb_table.this.arn}/index/*"
}
