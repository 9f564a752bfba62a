"""Warm pools: started servers that wait for a course's new students (issue 13's warm servers)."""
