"""DIGs: EMCO deployment intent groups, their lifecycle workflow and the orchestrators."""
