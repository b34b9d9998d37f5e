# terraform workspace select -or-create prod
# terraform plan -var-file=environments/prod.tfvars
environment = "prod"
aws_region  = "us-east-1"

# The AWS account (a label) and its regional quotas, shared by every
# environment with the same aws_account and aws_region: terraform/bootstrap
# puts dev, staging and prod in one account by default, so all three name it
# "shop" and declare the same quotas. tests/infra sums reserved concurrency
# (AWS keeps 100 unreserved) and NAT Elastic IPs over them. Give prod an
# account of its own by bootstrapping it there and naming it here.
aws_account      = "shop"
elastic_ip_quota = 5

network = {
  vpc_cidr              = "10.40.0.0/16"
  availability_zone_ids = ["use1-az1", "use1-az2", "use1-az4"] # AZ IDs: the same physical zones in every account
  nat_gateways          = 3                                    # one NAT gateway per AZ (three Elastic IPs)
}

rds = {
  instance_class          = "db.r6g.large"
  allocated_storage       = 100
  max_allocated_storage   = 500
  multi_az                = true
  deletion_protection     = true
  backup_retention_period = 30
  skip_final_snapshot     = false
}

redis = {
  node_type                = "cache.r7g.large"
  num_cache_clusters       = 3
  snapshot_retention_limit = 7
}

lambda_functions = {
  api_users_lambda        = { memory_size = 1024, timeout = 10, reserved_concurrency = 200 }
  api_products_lambda     = { memory_size = 1024, timeout = 10, reserved_concurrency = 300 }
  api_cart_lambda         = { memory_size = 1024, timeout = 10, reserved_concurrency = 200 }
  api_orders_lambda       = { memory_size = 1024, timeout = 25, reserved_concurrency = 100 }
  image_processing_lambda = { memory_size = 2048, timeout = 50, reserved_concurrency = 20 }
  checkout_worker_lambda  = { memory_size = 1024, timeout = 25, reserved_concurrency = 20 }
  outbox_relay_lambda     = { memory_size = 512, timeout = 50, reserved_concurrency = 1 }
  db_migrate_lambda       = { memory_size = 512, timeout = 300 }
}

# Reserved concurrency totals 841 (a guaranteed share per function and a cap
# that protects RDS Proxy). In the shared account (aws_account "shop") with
# staging's 51 that is 892, leaving 108 of 1000 unreserved (AWS keeps at
# least 100), so the account needs a Lambda concurrency quota of at least 992:
# request 1000 or more through Service Quotas (L-B99A9384) before the first
# prod deploy. The declared quota, checked at plan time and by tests/infra:
lambda_account_concurrency_limit = 1000

database_max_connections = 3
log_retention_days       = 365

api_throttling = { burst_limit = 2000, rate_limit = 1000 }

cors_allowed_origins = ["https://shop.example.com"]

# Sign-up codes and password resets go through SES (Cognito's default sender
# allows 50 mails a day): verify the identity in SES in aws_region and leave
# the SES sandbox before the first prod deploy (docs/deploy.md).
cognito = {
  auto_confirm           = false
  advanced_security_mode = "ENFORCED"
  email = {
    ses_identity = "shop.example.com"
    from_address = "Shop <no-reply@shop.example.com>"
  }
}

protect_data = true

alarm_emails = ["oncall@example.com"]

# Set to serve the API at a custom domain through CloudFront + WAF:
domain_name    = ""
hosted_zone_id = ""
