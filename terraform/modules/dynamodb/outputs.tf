output "table_names" {
  description = "Deployed table name by logical name (ProductCatalog => shop-dev-ProductCatalog)."
  value       = { for k, t in aws_dynamodb_table.this : k => t.name }
}

output "table_arns" {
  description = "Table ARN by logical name."
  value       = { for k, t in aws_dynamodb_table.this : k => t.arn }
}
