# terraform workspace select -or-create staging
# terraform plan -var-file=environments/staging.tfvars
environment = "staging"
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
  vpc_cidr              = "10.30.0.0/16"
  availability_zone_ids = ["use1-az1", "use1-az2"] # AZ IDs: the same physical zones in every account
  nat_gateways          = 1                        # one shared NAT gateway (one Elastic IP)
}

rds = {
  instance_class          = "db.t4g.small"
  allocated_storage       = 20
  max_allocated_storage   = 100
  multi_az                = false
  deletion_protection     = true
  backup_retention_period = 7
  skip_final_snapshot     = false
}

redis = {
  node_type                = "cache.t4g.small"
  num_cache_clusters       = 2
  snapshot_retention_limit = 3
}

lambda_functions = {
  api_users_lambda        = { memory_size = 512, timeout = 10, reserved_concurrency = 10 }
  api_products_lambda     = { memory_size = 512, timeout = 10, reserved_concurrency = 10 }
  api_cart_lambda         = { memory_size = 512, timeout = 10, reserved_concurrency = 10 }
  api_orders_lambda       = { memory_size = 512, timeout = 25, reserved_concurrency = 10 }
  image_processing_lambda = { memory_size = 1536, timeout = 50, reserved_concurrency = 5, queue_concurrency = 5 }
  checkout_worker_lambda  = { memory_size = 512, timeout = 25, reserved_concurrency = 5, queue_concurrency = 2 }
  outbox_relay_lambda     = { memory_size = 256, timeout = 50, reserved_concurrency = 1 }
  db_migrate_lambda       = { memory_size = 256, timeout = 300 }
}

# Reserved concurrency totals 51. It shares the account (aws_account "shop")
# with prod (841) and dev (nothing reserved): 892 of the 1000 reserved leaves
# 108 unreserved, and AWS keeps at least 100 unreserved per account and
# region. The worker's two queues (checkout-tasks, fulfillment) poll with at
# most 2 each: 4 within its 5. The declared quota, checked at plan time and
# by tests/infra (per environment and summed over the account):
lambda_account_concurrency_limit = 1000

log_retention_days = 90

api_throttling = { burst_limit = 200, rate_limit = 100 }

cors_allowed_origins = ["https://staging.shop.example.com"]

cognito = { auto_confirm = false, advanced_security_mode = "AUDIT" }

protect_data = true
