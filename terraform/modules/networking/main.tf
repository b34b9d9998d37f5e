# The network: a VPC with private subnets (Lambdas, RDS, Redis, interface
# endpoints) and public subnets (NAT gateways only) across the AZs named by
# ID in availability_zone_ids, gateway endpoints for
# DynamoDB and S3, interface endpoints for the other AWS APIs the functions
# call, and every security group, so that the modules that use them never
# create ingress rules of their own.
data "aws_region" "current" {}

# AZ names (us-east-1a ...) map to different physical AZs (AZ IDs) in each
# account, and not every account has every AZ: the subnets are placed by AZ ID
# (the same physical zone in every account), and this lookup, allowlisted to
# those IDs, checks that the account offers each of them (precondition on the
# VPC).
data "aws_availability_zones" "selected" {
  filter {
    name   = "zone-id"
    values = var.availability_zone_ids
  }
}

locals {
  azs      = var.availability_zone_ids
  az_count = length(var.availability_zone_ids)
  # One Elastic IP per NAT gateway, an explicit count per environment (the
  # region's EIP quota is shared by every environment in the account).
  nat_count = var.nat_gateways
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = "${var.name_prefix}vpc" }

  lifecycle {
    precondition {
      condition     = length(setsubtract(var.availability_zone_ids, data.aws_availability_zones.selected.zone_ids)) == 0
      error_message = "This account does not offer the availability zones ${join(", ", setsubtract(var.availability_zone_ids, data.aws_availability_zones.selected.zone_ids))} in this region (aws ec2 describe-availability-zones --query 'AvailabilityZones[].ZoneId')."
    }
  }
}

# Take over the default security group and leave it without rules.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
}

resource "aws_subnet" "private" {
  count                = local.az_count
  vpc_id               = aws_vpc.this.id
  availability_zone_id = local.azs[count.index]
  cidr_block           = cidrsubnet(var.vpc_cidr, 4, count.index)

  tags = { Name = "${var.name_prefix}private-${local.azs[count.index]}", Tier = "private" }
}

resource "aws_subnet" "public" {
  count                   = local.az_count
  vpc_id                  = aws_vpc.this.id
  availability_zone_id    = local.azs[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, 4, 8 + count.index)
  map_public_ip_on_launch = false

  tags = { Name = "${var.name_prefix}public-${local.azs[count.index]}", Tier = "public" }
}

resource "aws_internet_gateway" "this" {
  count  = local.nat_count > 0 ? 1 : 0
  vpc_id = aws_vpc.this.id

  tags = { Name = "${var.name_prefix}igw" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = { Name = "${var.name_prefix}public" }
}

resource "aws_route" "public_internet" {
  count                  = local.nat_count > 0 ? 1 : 0
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count          = local.az_count
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  count  = local.nat_count
  domain = "vpc"

  tags = { Name = "${var.name_prefix}nat-${count.index}" }
}

resource "aws_nat_gateway" "this" {
  count         = local.nat_count
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = { Name = "${var.name_prefix}nat-${count.index}" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "private" {
  count  = local.az_count
  vpc_id = aws_vpc.this.id

  tags = { Name = "${var.name_prefix}private-${local.azs[count.index]}" }
}

resource "aws_route" "private_nat" {
  count                  = local.nat_count > 0 ? local.az_count : 0
  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[min(count.index, local.nat_count - 1)].id
}

resource "aws_route_table_association" "private" {
  count          = local.az_count
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# --- flow logs ----------------------------------------------------------------

resource "aws_cloudwatch_log_group" "flow" {
  name              = "/aws/vpc/${var.name_prefix}flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "flow_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "flow" {
  name               = "${var.name_prefix}vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_assume.json
}

data "aws_iam_policy_document" "flow" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow.arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow.id
  policy = data.aws_iam_policy_document.flow.json
}

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow.arn
  iam_role_arn    = aws_iam_role.flow.arn
}

# --- security groups ------------------------------------------------------------

resource "aws_security_group" "lambda" {
  #checkov:skip=CKV2_AWS_5:Attached to the lambda functions (lambdas module) through this module's outputs; checkov's graph does not follow module outputs.
  name        = "${var.name_prefix}lambda"
  description = "Lambda functions: no ingress; egress to the data stores, the endpoints and HTTPS"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "rds_proxy" {
  #checkov:skip=CKV2_AWS_5:Attached to the RDS Proxy (rds module) through this module's outputs; checkov's graph does not follow module outputs.
  name        = "${var.name_prefix}rds-proxy"
  description = "RDS Proxy: PostgreSQL from the Lambda functions"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "rds" {
  #checkov:skip=CKV2_AWS_5:Attached to the RDS instance (rds module) through this module's outputs; checkov's graph does not follow module outputs.
  name        = "${var.name_prefix}rds"
  description = "RDS PostgreSQL: only from the RDS Proxy"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "redis" {
  #checkov:skip=CKV2_AWS_5:Attached to the replication group (elasticache module) through this module's outputs; checkov's graph does not follow module outputs.
  name        = "${var.name_prefix}redis"
  description = "ElastiCache Redis: only from the Lambda functions"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name_prefix}vpc-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_proxy" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "PostgreSQL to the RDS Proxy"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.rds_proxy.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_redis" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "Redis (TLS) to ElastiCache"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.redis.id
}

# HTTPS to AWS APIs: the interface endpoints, the gateway endpoints' prefix
# lists and, through the NAT, the public Cognito JWKS endpoint.
resource "aws_vpc_security_group_egress_rule" "lambda_https" {
  security_group_id = aws_security_group.lambda.id
  description       = "HTTPS to AWS APIs (endpoints or NAT)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "proxy_from_lambda" {
  security_group_id            = aws_security_group.rds_proxy.id
  description                  = "PostgreSQL from the Lambda functions"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_egress_rule" "proxy_to_rds" {
  security_group_id            = aws_security_group.rds_proxy.id
  description                  = "PostgreSQL to the database instances"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.rds.id
}

resource "aws_vpc_security_group_egress_rule" "proxy_https" {
  security_group_id = aws_security_group.rds_proxy.id
  description       = "HTTPS to Secrets Manager (credentials)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr
}

resource "aws_vpc_security_group_ingress_rule" "rds_from_proxy" {
  security_group_id            = aws_security_group.rds.id
  description                  = "PostgreSQL from the RDS Proxy"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.rds_proxy.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_lambda" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis (TLS) from the Lambda functions"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id = aws_security_group.endpoints.id
  description       = "HTTPS from inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = var.vpc_cidr
}

# --- VPC endpoints --------------------------------------------------------------

resource "aws_vpc_endpoint" "gateway" {
  for_each          = toset(["dynamodb", "s3"])
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = { Name = "${var.name_prefix}${each.key}" }
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(var.interface_endpoints)
  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true

  tags = { Name = "${var.name_prefix}${each.key}" }
}
