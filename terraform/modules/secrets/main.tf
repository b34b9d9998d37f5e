# Owns the generated credentials and the secrets that hold them: "db"
# ({username,password,host,port,dbname}, the shape DATABASE_SECRET_ID expects,
# host = the RDS Proxy endpoint) and "redis-auth" (the ElastiCache AUTH token).
# The values never leave Terraform state except through Secrets Manager.
#
# Rotation is not configured yet (issue 22, item 4). The functions are ready
# for it: they re-read this secret after its TTL and as soon as PostgreSQL
# rejects the password (crates/common/src/clients/credentials.rs, tested by
# services/products/tests/secret_rotation.rs), and RDS Proxy reads it on every
# new connection. What stands in the way is this configuration, not the code:
# - the instance's master password is given from the read-back below, pinned
#   to the version Terraform wrote: after a rotation the next apply would set
#   the old password again (it must follow AWSCURRENT, or the instance must
#   stop taking its password from Terraform);
# - credentials_version re-writes the secret with Terraform's password;
# - `host` is the proxy: AWS's single-user rotation function
#   (SecretsManagerRDSPostgreSQLRotationSingleUser, from the Serverless
#   Application Repository) would log in through a proxy that authenticates
#   with this same secret, so it must get the instance endpoint (a field the
#   secret lacks), run in the database's subnets with a security group the
#   instance admits, and reach Secrets Manager (no VPC endpoint exists yet);
# - single-user rotation leaves a window between setSecret and finishSecret
#   in which AWSCURRENT no longer logs in; the alternating-users strategy
#   (a second role, and the master secret for the function) avoids it.
# docs/deploy.md lists these as the steps to take before enabling
# aws_secretsmanager_secret_rotation here.

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
  #checkov:skip=CKV2_AWS_57:No rotation Lambda yet: the master password is pinned to Terraform's secret version and the rotation function needs the instance endpoint, VPC placement and a Secrets Manager endpoint (see the comment at the top); the functions already re-read a rotated secret.
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
