output "db_instance_identifier" {
  description = "Identifier of the RDS instance."
  value       = aws_db_instance.this.identifier
}

output "db_instance_endpoint" {
  description = "Endpoint (host:port) of the RDS instance; applications use the proxy instead."
  value       = aws_db_instance.this.endpoint
}

output "db_proxy_endpoint" {
  description = "Host name of the RDS Proxy, the host the services connect to."
  value       = aws_db_proxy.this.endpoint
}

output "db_proxy_arn" {
  description = "ARN of the RDS Proxy."
  value       = aws_db_proxy.this.arn
}
