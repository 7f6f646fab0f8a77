"""The golden rules, enforced: each guard names the test or fixture that broke one."""
