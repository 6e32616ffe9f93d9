"""catalog: products, prices and stock; stock reservations for orders."""
