# Owns the generated credentials and the secrets that hold them: "db"
# ({username,password,host,port,dbname}, the shape DATABASE_SECRET_ID expects,
# host = the RDS Proxy endpoint) and "redis-auth" (the ElastiCache AUTH token).
# The values never leave Terraform state except through Secrets Manager.
#
# Rotation is not configured: RDS Proxy reads the secret on every new
# connection, so a rotation Lambda can be added later without code changes.

# The passwords come from Secrets Manager's GetRandomPassword (the aws
# provider only: the Terraform mirror holds no `random` provider). The data
# source draws new candidates on every plan; they reach the secrets as
# write-only values, sent only when the secret version is created or
# credentials_version is raised, so a plan never shows a change. The database
# and the replication group are given what the secrets hold (read back
# below), so a replaced instance still matches its secret. Data sources, not
# the provider's ephemeral resources: `terraform test`'s mock providers cannot
# run ephemeral resources (Terraform 1.11).

# RDS master passwords: printable ASCII except / @ " and space.
data "aws_secretsmanager_random_password" "db" {
  password_length            = 32
  exclude_characters         = "\"'/@\\`,;.|~"
  include_space              = false
  require_each_included_type = true
}

# ElastiCache AUTH tokens: 16-128 characters, letters, digits and only the
# specials ! & # $ ^ < > - (CreateReplicationGroup rejects any other).
# tests/infra/test_deploy_guards.py holds this set to that rule.
data "aws_secretsmanager_random_password" "redis" {
  password_length            = 64
  exclude_characters         = "\"%'()*+,./:;=?@[\\]_`{|}~"
  include_space              = false
  require_each_included_type = true
}

resource "aws_secretsmanager_secret" "db" {
  #checkov:skip=CKV2_AWS_57:No rotation Lambda yet; RDS Proxy re-reads the secret on each new connection, so rotation can be enabled without downtime (tracked as follow-up).
  name                    = "${var.name_prefix}db"
  description             = "PostgreSQL credentials {username,password,host,port,dbname}; host is the RDS Proxy endpoint."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id                = aws_secretsmanager_secret.db.id
  secret_string_wo_version = var.credentials_version
  secret_string_wo = jsonencode({
    username = var.database.username
    password = data.aws_secretsmanager_random_password.db.random_password
    host     = var.database.host
    port     = var.database.port
    dbname   = var.database.dbname
    engine   = "postgres"
  })
}

resource "aws_secretsmanager_secret" "redis" {
  #checkov:skip=CKV2_AWS_57:Rotating the ElastiCache AUTH token needs a coordinated ROTATE/SET on the replication group; done by a runbook, not automatically.
  name                    = "${var.name_prefix}redis-auth"
  description             = "ElastiCache Redis AUTH token {auth_token}."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id                = aws_secretsmanager_secret.redis.id
  secret_string_wo         = jsonencode({ auth_token = data.aws_secretsmanager_random_password.redis.random_password })
  secret_string_wo_version = var.credentials_version
}

# What the database and the replication group are given: read back from the
# secrets, so they always match what the functions and RDS Proxy read. Both
# values are in the plan and the state (sensitive; the state bucket is
# KMS-encrypted): the deploy workflow never uploads a plan file.
data "aws_secretsmanager_secret_version" "db" {
  secret_id  = aws_secretsmanager_secret_version.db.secret_id
  version_id = aws_secretsmanager_secret_version.db.version_id
}

data "aws_secretsmanager_secret_version" "redis" {
  secret_id  = aws_secretsmanager_secret_version.redis.secret_id
  version_id = aws_secretsmanager_secret_version.redis.version_id
}
