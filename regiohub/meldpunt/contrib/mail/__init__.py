"""E-mail intake: mail to the contact point arrives as raw MIME through a webhook (most
mail services can forward it: Postmark, Mailgun, SendGrid, or a mail server's pipe).

A reply by a reporter (the subject names their reference, the sender is their address) is
added to that report as their message. Anything else becomes a draft that an agent takes
in through the intake form, its photos included.
"""
