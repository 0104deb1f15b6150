"""Multi-agency crisis plans: proposed, confirmed by every partner, and used to route crises."""
