import XCTest
import TweedieModels
