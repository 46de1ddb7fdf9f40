"""Members reporting harm, and seeing what became of their reports."""
