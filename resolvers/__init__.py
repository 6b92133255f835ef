"""Use cases: the rules of Tongxin as plain async functions (check_*, do_*, notify_*)."""
