locals {
  repo_root = "${path.module}/../.."

  # The one source of truth: services/project.yaml and services/*/service.yaml.
  project = yamldecode(file("${local.repo_root}/services/project.yaml")).project
  manifests = {
    for f in fileset("${local.repo_root}/services", "*/service.yaml") :
    dirname(f) => yamldecode(file("${local.repo_root}/services/${f}"))
  }
  service_names = sort(keys(local.manifests))

  name = "${local.project}-${var.environment}"

  # Every role the stack creates carries this boundary, made by infra/bootstrap (same name rule
  # there, boundary.tf): the deploy role may create and change roles only with it.
  permissions_boundary_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:policy/${local.project}-boundary-${var.environment}"
  namespace_name           = "${var.environment}.${local.project}.internal"

  # Tasks per service at creation: the explicit override, else the manifest's HA minimum.
  desired_count = { for s, m in local.manifests : s => coalesce(var.desired_count, m.scaling.min) }

  # Images come from this account's ECR (repositories <project>/<service>, made by infra/bootstrap)
  # unless another registry is given; by digest when one is known, else by the release tag.
  image_registry = coalesce(var.image_registry, "${data.aws_caller_identity.current.account_id}.dkr.ecr.${var.region}.amazonaws.com")
  images = {
    for s in local.service_names : s => (
      contains(keys(var.image_digests), s)
      ? "${local.image_registry}/${local.project}/${s}@${var.image_digests[s]}"
      : "${local.image_registry}/${local.project}/${s}:${var.image_tag}"
    )
  }

  # Secrets each service owns (created here, without a value) ...
  owned_secrets = merge([
    for s, m in local.manifests : {
      for sec in try(m.secrets, []) : "${s}/${sec.name}" => {
        service     = s
        name        = sec.name
        description = sec.description
      } if try(sec.from, null) == null
    }
  ]...)
  # ... and, per service, env var name -> key of the secret it reads (its own or a referenced one).
  service_secret_keys = {
    for s, m in local.manifests : s => {
      for sec in try(m.secrets, []) : sec.name => coalesce(try(sec.from, null), "${s}/${sec.name}")
    }
  }

  # Service-to-service calls declared in the manifests: caller -> callee on the callee's port.
  dependency_edges = merge([
    for s, m in local.manifests : {
      for d in try(m.dependencies, []) : "${s}->${d.service}" => {
        caller = s
        callee = d.service
        env    = d.env
        port   = local.manifests[d.service].port
      }
    }
  ]...)
  dependency_env = {
    for s, m in local.manifests : s => {
      for d in try(m.dependencies, []) : d.env => "http://${d.service}.${local.namespace_name}:${local.manifests[d.service].port}"
    }
  }

  # ALB rule priorities: stable order by service name.
  route_priority = { for i, s in local.service_names : s => 100 + i * 10 }
}
