# Bootstrap of an AWS account for the deploy workflow, applied once by hand
# with administrator credentials (docs/deploy.md), with local state:
#   - the S3 bucket holding every environment's Terraform state (versioned,
#     KMS-encrypted, TLS only, public access blocked); locking is the S3
#     lockfile (use_lockfile = true), so there is no DynamoDB lock table;
#   - the GitHub OIDC identity provider;
#   - one deploy role per environment that only this repository's workflows,
#     running in the GitHub environments <env> or <env>-plan, can assume
#     (the ECR step, the image pushes and the apply);
#   - one read-only plan role per environment (ReadOnlyAccess, its state,
#     the secrets a refresh reads) for the plan job, from <env>-plan only.
# GitHub environments themselves (branch policies, reviewers, variables) are
# not Terraform's here (only the aws provider): docs/deploy.md step 2 sets
# them with `gh api`, and tests/infra checks that script.
# It must not create anything of the platform itself (that is ../, per
# environment).
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id   = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  state_bucket = var.state_bucket_name != "" ? var.state_bucket_name : "${var.project}-tfstate-${local.account_id}-${var.aws_region}"
  oidc_host    = "token.actions.githubusercontent.com"
  oidc_arn     = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:${local.partition}:iam::${local.account_id}:oidc-provider/${local.oidc_host}"
}

# --- state ------------------------------------------------------------------------------

resource "aws_kms_key" "state" {
  #checkov:skip=CKV2_AWS_64:The default key policy (account root, delegating to IAM) is what this key needs: only the deploy roles and administrators use it, through IAM.
  description             = "${var.project} Terraform state"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_kms_alias" "state" {
  name          = "alias/${var.project}-tfstate"
  target_key_id = aws_kms_key.state.key_id
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_144:State is versioned in one region; a cross-region copy is not worth its cost for a few small files.
  #checkov:skip=CKV_AWS_18:Access to the state is audited by CloudTrail; server access logs would need another bucket for little gain.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the state bucket.
  bucket = local.state_bucket

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 90
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}

# --- GitHub OIDC and the deploy roles -----------------------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_oidc_provider ? 1 : 0
  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_policy_document" "trust" {
  for_each = toset(var.environments)

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Only jobs that run in this environment's GitHub environments: "<env>"
    # (apply; prod has required reviewers) and "<env>-plan" (images, plan).
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values = [
        "repo:${var.github_repository}:environment:${each.key}",
        "repo:${var.github_repository}:environment:${each.key}-plan",
      ]
    }
  }
}

# A first prod apply creates a Multi-AZ RDS instance, its proxy, a
# three-node ElastiCache group and a CloudFront distribution, and can run
# well past an hour: the apply job asks for var.deploy_session_seconds (its
# role-duration-seconds), and the role must allow that much.
resource "aws_iam_role" "deploy" {
  for_each             = toset(var.environments)
  name                 = "${var.project}-${each.key}-deploy"
  description          = "Deploys ${var.project} ${each.key} from GitHub Actions (${var.github_repository})."
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = var.deploy_session_seconds
}

# The platform's Terraform creates IAM roles, VPCs, KMS keys, CloudFront,
# Cognito and more, so the deploy role is an administrator of its account;
# what limits it is who can assume it (the trust policy above: this
# repository's protected GitHub environments only).
resource "aws_iam_role_policy_attachment" "deploy_admin" {
  #checkov:skip=CKV_AWS_274:Terraform of the whole platform needs broad rights (IAM, VPC, KMS, CloudFront...); the role is bound by its OIDC trust to this repository's protected environments.
  for_each   = aws_iam_role.deploy
  role       = each.value.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AdministratorAccess"
}

# --- the read-only plan role ----------------------------------------------------------------

# The plan job reads: AWS (ReadOnlyAccess), the environment's state (and its
# key), and the two secrets whose values a refresh reads back (the database
# credentials and the Redis AUTH token, through the environment's data key).
# It writes nothing: plan runs with -lock=false, since the S3 lockfile is a
# write.
data "aws_iam_policy_document" "plan_trust" {
  for_each = toset(var.environments)

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${each.key}-plan"]
    }
  }
}

resource "aws_iam_role" "plan" {
  for_each             = toset(var.environments)
  name                 = "${var.project}-${each.key}-plan"
  description          = "Plans ${var.project} ${each.key} from GitHub Actions (${var.github_repository}): read-only."
  assume_role_policy   = data.aws_iam_policy_document.plan_trust[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  for_each   = aws_iam_role.plan
  role       = each.value.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

data "aws_iam_policy_document" "plan" {
  for_each = toset(var.environments)

  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.state.arn}/${var.project}/${each.key}/*", "${aws_s3_bucket.state.arn}/env:/${each.key}/*"]
  }

  # ReadOnlyAccess reads every bucket: not the other environments' states
  # (they hold those environments' secrets).
  dynamic "statement" {
    for_each = length(var.environments) > 1 ? [1] : []

    content {
      sid     = "NotOtherEnvironmentsState"
      effect  = "Deny"
      actions = ["s3:GetObject*"]
      resources = flatten([
        for other in var.environments : [
          "${aws_s3_bucket.state.arn}/${var.project}/${other}/*",
          "${aws_s3_bucket.state.arn}/env:/${other}/*",
        ] if other != each.key
      ])
    }
  }

  statement {
    sid       = "DecryptState"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.state.arn]
  }

  statement {
    sid       = "ReadBackSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:${var.aws_region}:${local.account_id}:secret:${var.project}-${each.key}-*"]
  }

  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = ["arn:${local.partition}:kms:${var.aws_region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.aws_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "plan" {
  for_each = aws_iam_role.plan
  name     = "state-and-secrets-read"
  role     = each.value.name
  policy   = data.aws_iam_policy_document.plan[each.key].json
}
