"""Areas (行政区划): the city → district/county → town → village tree that scopes all data."""
