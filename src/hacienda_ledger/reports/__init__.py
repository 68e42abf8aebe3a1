"""Reports built from the projections: monthly, ALT2, DSP, receipts, slips, exports."""
