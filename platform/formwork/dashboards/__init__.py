"""Dashboards (看板): KPI cards and charts as definitions, per role, with the home page's cards."""
