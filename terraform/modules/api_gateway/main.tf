# Owns the HTTP API in front of the four HTTP functions: one Lambda proxy
# integration (payload 2.0) per service, the Cognito JWT authorizer on
# `ANY /v1/{service}` and `ANY /v1/{service}/{proxy+}`, the public routes of
# docs/api.md without it (the API's own description, /v1/openapi.json and
# /v1/docs, included), the invoke permissions, and the $default stage with
# throttling and JSON access logs. The services still check roles (admin)
# themselves: the authorizer only proves the token.
locals {
  # The API's own description: the OpenAPI 3.1 document and Swagger UI (the
  # page under /v1/docs/, its files bundled in the binary), served by the
  # products function (routers::finish with function_serves_docs) to
  # anonymous clients. They are outside /v1/products, so they also need their
  # own invoke permissions (below).
  docs_routes = {
    "GET /v1/openapi.json"  = "products"
    "GET /v1/docs"          = "products"
    "GET /v1/docs/{proxy+}" = "products"
  }

  # Routes open to anonymous clients (docs/api.md). API Gateway picks the most
  # specific match, so `GET /v1/products/{proxy+}` wins over the protected
  # `ANY /v1/products/{proxy+}` for reads while writes still need a token.
  public_routes = merge(
    {
      "GET /v1/products"          = "products"
      "GET /v1/products/{proxy+}" = "products"
      "POST /v1/users/register"   = "users"
      "POST /v1/users/confirm"    = "users"
      "POST /v1/users/login"      = "users"
      "POST /v1/users/refresh"    = "users"
    },
    local.docs_routes,
    { for s in keys(var.services) : "GET /v1/${s}/health" => s },
  )

  protected_routes = merge(
    { for s in keys(var.services) : "ANY /v1/${s}" => s },
    { for s in keys(var.services) : "ANY /v1/${s}/{proxy+}" => s },
  )
}

resource "aws_apigatewayv2_api" "this" {
  name          = "${var.name_prefix}api"
  protocol_type = "HTTP"
  description   = "Shop REST API (/v1)"

  cors_configuration {
    allow_origins  = var.cors.allow_origins
    allow_methods  = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    allow_headers  = ["authorization", "content-type", "idempotency-key", "x-request-id"]
    expose_headers = ["x-request-id", "location"]
    max_age        = var.cors.max_age
  }
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  api_id           = aws_apigatewayv2_api.this.id
  name             = "cognito"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt.issuer
    audience = var.jwt.audiences
  }
}

resource "aws_apigatewayv2_integration" "service" {
  for_each               = var.services
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = each.value.function_invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "protected" {
  for_each           = local.protected_routes
  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.service[each.value].id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.jwt.id
}

resource "aws_apigatewayv2_route" "public" {
  #checkov:skip=CKV_AWS_309:These are the anonymous routes of the API contract (catalogue reads, sign-up, login, token refresh, health, the OpenAPI document and docs page); every other route uses the JWT authorizer.
  for_each           = local.public_routes
  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.service[each.value].id}"
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "api" {
  for_each      = var.services
  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*/v1/${each.key}*"
}

# The documentation routes lie outside /v1/<service>, so the permission above
# does not cover them: one permission per route, for exactly its method and
# path ("GET /v1/docs" -> <execution arn>/*/GET/v1/docs; a greedy path
# variable is any path below: "GET /v1/docs/{proxy+}" -> .../GET/v1/docs/*).
resource "aws_lambda_permission" "docs" {
  for_each      = local.docs_routes
  statement_id  = "AllowApiGatewayInvoke-${replace(each.key, "/[^A-Za-z0-9]+/", "-")}"
  action        = "lambda:InvokeFunction"
  function_name = var.services[each.value].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/${replace(replace(each.key, " ", ""), "{proxy+}", "*")}"
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name_prefix}api"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit   = var.throttling.burst_limit
    throttling_rate_limit    = var.throttling.rate_limit
    detailed_metrics_enabled = true
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      path               = "$context.path"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
      userSub            = "$context.authorizer.claims.sub"
    })
  }
}
