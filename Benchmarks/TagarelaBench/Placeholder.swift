// TagarelaBench: placeholder until the load generator lands; delete it then.
