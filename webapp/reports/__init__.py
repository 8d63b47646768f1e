"""Reports (gross profit, sales, purchases, back orders, payables) and ERP export files."""
