"""The ``gatepass`` management command (click). Nothing else imports this package."""
