from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        # Routing keeps configuration for up to a second (routing.config_cache):
        # a change saved here is seen at once.
        from django.db.models.signals import m2m_changed

        from routing import config_cache
        from routing.models import BusinessHours, Holiday, PriorityRule, Skill, Workgroup

        config_cache.forget_when_saved(Workgroup, BusinessHours, Holiday, PriorityRule, Skill)
        m2m_changed.connect(
            config_cache.configuration_changed,
            sender=Workgroup.required_skills.through,
            dispatch_uid="routing.config_cache.required_skills",
        )
