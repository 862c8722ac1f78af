"""The ledger (台账): one row per ticket with the columns an office keeps; .xlsx and CSV."""
