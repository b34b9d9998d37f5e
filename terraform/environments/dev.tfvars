# terraform workspace select -or-create dev
# terraform plan -var-file=environments/dev.tfvars
environment = "dev"
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
  vpc_cidr              = "10.20.0.0/16"
  availability_zone_ids = ["use1-az1", "use1-az2"] # AZ IDs: the same physical zones in every account
  nat_gateways          = 1                        # one shared NAT gateway (one Elastic IP)
}

rds = {
  instance_class          = "db.t4g.micro"
  allocated_storage       = 20
  max_allocated_storage   = 50
  multi_az                = false
  deletion_protection     = false
  backup_retention_period = 1
  skip_final_snapshot     = true
}

redis = {
  node_type                = "cache.t4g.micro"
  num_cache_clusters       = 1
  snapshot_retention_limit = 1
}

lambda_functions = {
  api_users_lambda        = { memory_size = 256, timeout = 10 }
  api_products_lambda     = { memory_size = 256, timeout = 10 }
  api_cart_lambda         = { memory_size = 256, timeout = 10 }
  api_orders_lambda       = { memory_size = 256, timeout = 25 }
  image_processing_lambda = { memory_size = 1024, timeout = 50 }
  checkout_worker_lambda  = { memory_size = 256, timeout = 25 }
  outbox_relay_lambda     = { memory_size = 256, timeout = 50 }
  db_migrate_lambda       = { memory_size = 256, timeout = 300 }
}

# Reserved concurrency: none in dev (reserved_concurrency unset = unreserved):
# dev runs in the unreserved share that staging and prod leave in the shared
# account. Declared Lambda concurrency quota of the account (the same in every
# environment of aws_account "shop"):
lambda_account_concurrency_limit = 1000

log_level          = "debug"
log_retention_days = 14

api_throttling = { burst_limit = 50, rate_limit = 20 }

cors_allowed_origins = ["http://localhost:3000"]

cognito = { auto_confirm = true, advanced_security_mode = "OFF" }

protect_data = false
