"""Lab provisioning (specs/lab-workflow-service.md §6): registrar, workflow, activities, messages."""
