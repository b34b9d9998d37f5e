output "vpc_id" {
  description = "Id of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Ids of the private subnets (one per AZ), for Lambdas, RDS, Redis."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "Ids of the public subnets (NAT gateways only)."
  value       = aws_subnet.public[*].id
}

output "security_group_lambda_id" {
  description = "Security group of the Lambda functions."
  value       = aws_security_group.lambda.id
}

output "security_group_rds_id" {
  description = "Security group of the RDS instance."
  value       = aws_security_group.rds.id
}

output "security_group_rds_proxy_id" {
  description = "Security group of the RDS Proxy."
  value       = aws_security_group.rds_proxy.id
}

output "security_group_redis_id" {
  description = "Security group of the Redis replication group."
  value       = aws_security_group.redis.id
}

output "nat_gateway_ids" {
  description = "Ids of the NAT gateways (empty when disabled)."
  value       = aws_nat_gateway.this[*].id
}
