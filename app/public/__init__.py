"""Pages anyone may read: what the scheme is, who can join, what data is held and why."""
