"""Action modules, one package per `do` namespace, and the registry."""

from kallisti.modules.registry import Action, ModuleRegistry

__all__ = ["Action", "ModuleRegistry"]
