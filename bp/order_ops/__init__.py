"""Orders that look after themselves, and what an operator does to them.

Jobs (run by the app's background task and by `manage.py orders reconcile|expire`):
reconcile.py asks SumUp about payments whose webhook never came; expire.py closes orders
left unpaid. Operator actions (`manage.py orders cancel|refund`): cancel.py, refund.py.
Each is a plain async function taking the session first; time comes in as `now`.
"""
