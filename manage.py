#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import sys

if __name__ == "__main__":
    from config.startup import load_settings

    load_settings()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
