import XCTest
import TweedieImaging
