import XCTest  // TagarelaGatewayTests placeholder: delete when the first real test lands
