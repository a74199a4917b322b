"""What the tenant activities need from the outside world, behind small protocols: a local
sandbox that really persists (default) and real adapters (Keycloak, Auth0, SMTP, webhook)."""
