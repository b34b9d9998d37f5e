# terraform workspace select -or-create staging
# terraform plan -var-file=environments/staging.tfvars
environment = "staging"
aws_region  = "us-east-1"

network = {
  vpc_cidr           = "10.30.0.0/16"
  availability_zones = ["us-east-1a", "us-east-1b"]
  nat_gateway        = { enabled = true, one_per_az = false }
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
  api_users_lambda        = { memory_size = 512, timeout = 10, reserved_concurrency = 20 }
  api_products_lambda     = { memory_size = 512, timeout = 10, reserved_concurrency = 20 }
  api_cart_lambda         = { memory_size = 512, timeout = 10, reserved_concurrency = 20 }
  api_orders_lambda       = { memory_size = 512, timeout = 25, reserved_concurrency = 20 }
  image_processing_lambda = { memory_size = 1536, timeout = 50, reserved_concurrency = 5 }
  checkout_worker_lambda  = { memory_size = 512, timeout = 25, reserved_concurrency = 5 }
  outbox_relay_lambda     = { memory_size = 256, timeout = 50, reserved_concurrency = 1 }
  db_migrate_lambda       = { memory_size = 256, timeout = 300 }
}

# Reserved concurrency totals 91: AWS keeps 100 unreserved, so the staging
# account needs a Lambda concurrency quota of at least 191 (the standard
# quota is 1000; request it through Service Quotas, L-B99A9384, on a new
# account). The declared quota, checked at plan time and by tests/infra:
lambda_account_concurrency_limit = 1000

log_retention_days = 90

api_throttling = { burst_limit = 200, rate_limit = 100 }

cors_allowed_origins = ["https://staging.shop.example.com"]

cognito = { auto_confirm = false, advanced_security_mode = "AUDIT" }

protect_data = true
